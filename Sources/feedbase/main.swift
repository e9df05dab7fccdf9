// The executable: logging set-up and the command line, nothing else.

import FeedbaseCLI
import Logging

LoggingSystem.bootstrap(FeedbaseLogHandler.init(label:))
await FeedbaseCommand.start()
