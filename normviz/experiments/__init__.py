"""One module per page, named like the page: the numbers that page shows, as tensors, arrays and dataclasses."""
