"""Static assets of the capture app (a package so the wheel carries them as package data)."""
