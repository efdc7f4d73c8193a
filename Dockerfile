# formc serve in a container: the bot is compiled at build time, the server binds 0.0.0.0:5005.
#   docker build -t formc --build-arg BOT=examples/restaurant .
#   docker run -p 5005:5005 formc
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY formc ./formc
RUN pip install . && rm -rf /src/build

ARG BOT=examples/restaurant
WORKDIR /app
COPY ${BOT} /app/bot
COPY deploy/credentials.yml deploy/endpoints.yml /app/
RUN formc compile /app/bot -o /app/bot.fsm

RUN useradd --create-home --uid 1000 formc && mkdir -p /app/data && chown formc /app/data
USER formc
EXPOSE 5005
# The store and the action server come from /app/endpoints.yml (compose.yaml sets them);
# without them conversations go to the SQLite file /app/data/formc.db.
CMD ["formc", "serve", "/app/bot.fsm", "--host", "0.0.0.0", "--port", "5005", \
     "--credentials", "/app/credentials.yml", "--endpoints", "/app/endpoints.yml", \
     "--store", "sqlite:////app/data/formc.db"]
