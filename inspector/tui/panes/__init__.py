"""The app's tabs: sessions, live view, console, server."""
