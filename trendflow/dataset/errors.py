"""The error the dataset commands raise for input a user can fix; the CLI prints it as `error: ...`, exit 2."""


class DatasetError(ValueError):
    """Bad dataset input: a missing root or table, missing columns, targets the data cannot label, ..."""
