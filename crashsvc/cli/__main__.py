from crashsvc.cli import main

main()
