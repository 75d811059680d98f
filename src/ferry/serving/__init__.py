"""Answer predictions with the live version; swap versions without downtime."""
