"""One package per source; ``registry`` lists them. A source imports the shared layers below it
(``assets``, ``warehouse``, ``core``), never another source."""
