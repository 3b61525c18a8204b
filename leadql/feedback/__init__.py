"""The feedback loop: closed deals recorded against the deliveries that produced them
(RECORD OUTCOMES), how the leads really converted (EVALUATE OUTCOMES), and each source's
realised conversion, which the FIND planner weighs (evidence.py)."""
