"""The only code that talks to devices. Importing this package imports nothing heavy:
netmiko and paramiko are loaded by `transport.ssh` and `transport.shell` only."""
