from carevalue.cli import main

main()
