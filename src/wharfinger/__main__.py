"""`python -m wharfinger` runs the CLI."""

if __name__ == "__main__":
    from wharfinger.cli.process import run

    run()
