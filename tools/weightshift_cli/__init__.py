"""The weightshift command line and the offline demo."""
