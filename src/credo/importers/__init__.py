"""Turn external datasets into partners, consenting consumers and ordinary events."""
