from emulator import main

raise SystemExit(main())
