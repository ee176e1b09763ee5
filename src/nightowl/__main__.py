from nightowl.launch import main

main()
