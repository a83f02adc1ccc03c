"""Message contracts every service agrees on: the envelope, topics, payload schemas, who sends which command."""
