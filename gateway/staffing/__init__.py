"""Gate-post staffing: live watch, check-in/out, reading reports back."""
