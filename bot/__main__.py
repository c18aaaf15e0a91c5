import sys

from bot.launch import main

sys.exit(main())
