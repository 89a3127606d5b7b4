from hrm_cli.main import main

main()
