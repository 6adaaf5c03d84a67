"""Screens pushed over the main one: session detail, help, confirmations."""
