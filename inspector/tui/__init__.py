"""The Textual app: screens and widgets render and post messages; workers do the I/O."""
