// The node suites (three real `feedbase serve` processes each, over PostgreSQL, under load) run
// one at a time: side by side with each other and the rest of the suite they made a 2-core
// machine answer slower than their own bounds measure.

import Testing

@Suite(.serialized) enum NodeSuites {}
