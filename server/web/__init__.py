"""HTTP layer: the Flask blueprints. Domain logic lives in the services (server/*.py)."""
