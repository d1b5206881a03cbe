"""The Textual app cashiers use all day. Screens by task, widgets by screen region, messages up
(past-tense events), attributes down; blocking work in thread workers."""
