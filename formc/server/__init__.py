"""`formc serve`: the Sanic app (app), conversation turns (turns), HTTP errors (errors), forked workers (workers), the /chat page (chatpage, static/)."""
