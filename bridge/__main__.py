"""``python -m bridge`` runs the same CLI as the ``esb-bridge`` console script."""

from bridge.cli.main import main

if __name__ == "__main__":
    main()
