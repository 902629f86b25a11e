"""The playground: the whole bot in a browser, with no Telegram token and no internet."""
