"""The customer portal's server-rendered pages (PRODUCT.md §4): views, forms and browser access."""
