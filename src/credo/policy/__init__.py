"""Rules every layer reads: what Credo refuses to hold (PRODUCT.md §3)."""
