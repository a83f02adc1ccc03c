"""The knowledge base: articles, news, their statistics and suggestions (issue 23)."""
