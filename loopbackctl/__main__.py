from loopbackctl.cli import main_entry

main_entry()
