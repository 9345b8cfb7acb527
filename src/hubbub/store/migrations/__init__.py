"""Schema migrations: NNNN_name.sql (portable SQL) or NNNN_name.py (an `upgrade(tx)` function,
for data that SQL cannot convert the same way on every engine). See store/schema.py."""
