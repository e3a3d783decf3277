"""The calltask import: its status codes and error, validation, the import service and the
worker of async imports. No HTTP here: dialerd.api.calltasks sends what the import answers."""
