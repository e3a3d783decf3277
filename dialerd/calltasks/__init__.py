"""The calltask import: validation, the import service and the worker of async imports."""
