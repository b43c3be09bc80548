"""What tipsml shows a person: report tables and plots shared by the CLI and the demo."""
