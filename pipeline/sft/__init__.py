"""SFT seed data: functions paired with their documentation comments, filtered, and rendered as ChatML."""
