from nanozoo.cli import main

main()
