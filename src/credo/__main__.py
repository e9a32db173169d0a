from credo.cli.main import app

app()
