from envdsl.cli import run

run()
