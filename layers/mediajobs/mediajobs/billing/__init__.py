"""Cost: provider credit prices, AWS cost estimates, credit budgets and usage per tenant."""
