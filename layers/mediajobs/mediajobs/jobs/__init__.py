"""Jobs: the records, their store, and the steps the state machine runs."""
