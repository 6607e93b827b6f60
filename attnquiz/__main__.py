from attnquiz.cli import main

main()
