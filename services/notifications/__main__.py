from services.notifications.app import SPEC
from shared.runtime import main

main(SPEC)
