"""JetStream consumers for signals.> and feedback.>, and dead-letter handling."""
