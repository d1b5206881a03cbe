"""One screen per task at the till."""
