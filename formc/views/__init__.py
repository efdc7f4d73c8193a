"""Views of a compiled machine: the graph model (graph), Graphviz drawing (dot), text listing (text), diff."""
