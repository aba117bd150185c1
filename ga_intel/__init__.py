"""ga-intel: GA4 sales intelligence."""
