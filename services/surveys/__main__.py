from services.surveys.app import SPEC
from shared.runtime import main

main(SPEC)
