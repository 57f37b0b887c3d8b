"""Personal data and secrets: detection of spans, their replacement by <TYPE> placeholders, and the stage."""
