from services.engagement.app import SPEC
from shared.runtime import main

main(SPEC)
