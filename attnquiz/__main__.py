from attnquiz.cli import app

app()
