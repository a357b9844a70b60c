"""The prompt templates (*.txt), shipped as package data; bot/prompts.py reads and checks them."""
