"""``python -m cloudgd``: the same as the ``cloudgd`` command."""

from cloudgd.cli.main import main

if __name__ == "__main__":
    main()
